export {
  applyMigrations,
  type Migration,
  type MigrationOptions,
  openDatabase,
  type SqliteDatabase,
} from './open-database.js';
