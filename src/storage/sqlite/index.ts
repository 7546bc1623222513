export { applyMigrations, type Migration, openDatabase, type SqliteDatabase } from './open-database.js';
