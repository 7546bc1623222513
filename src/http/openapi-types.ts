/** A typed subset of OpenAPI 3.1: only what the node's document uses (src/http/openapi.ts). */

type Extensions = { readonly [key: `x-${string}`]: unknown };
export type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

/** JSON Schema 2020-12, the dialect of OpenAPI 3.1 Schema Objects (OAS 3.1 §4.8.24). */
export interface JsonSchema extends Extensions {
  readonly $ref?: string;
  readonly title?: string;
  readonly description?: string;
  readonly type?: JsonType | readonly JsonType[];
  readonly const?: unknown;
  readonly enum?: readonly unknown[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly uniqueItems?: boolean;
  readonly minItems?: number;
  readonly oneOf?: readonly JsonSchema[];
  readonly allOf?: readonly JsonSchema[];
  readonly pattern?: string;
  readonly format?: string;
  readonly contentMediaType?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly examples?: readonly unknown[];
}

export interface Reference {
  readonly $ref: string;
  readonly description?: string;
}

export interface MediaType {
  readonly schema?: JsonSchema;
  readonly example?: unknown;
}

export interface Header {
  readonly description?: string;
  readonly required?: boolean;
  readonly schema: JsonSchema;
}

export interface Response extends Extensions {
  readonly description: string;
  readonly headers?: Readonly<Record<string, Header>>;
  readonly content?: Readonly<Record<string, MediaType>>;
}

export interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly description?: string;
  readonly required?: boolean;
  readonly style?: 'simple' | 'form';
  readonly explode?: boolean;
  readonly schema: JsonSchema;
  readonly example?: unknown;
}

export interface RequestBody {
  readonly description?: string;
  readonly required?: boolean;
  readonly content: Readonly<Record<string, MediaType>>;
}

export interface Operation extends Extensions {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly parameters?: readonly Parameter[];
  readonly requestBody?: RequestBody;
  readonly responses: Readonly<Record<string, Response | Reference>>;
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export type PathItem = { readonly summary?: string; readonly description?: string } & {
  readonly [M in HttpMethod]?: Operation;
};

export interface SecurityScheme {
  readonly type: 'http';
  readonly scheme: 'bearer';
  readonly description?: string;
}

export interface OpenApiDocument {
  readonly openapi: `3.1.${number}`;
  readonly info: { readonly title: string; readonly version: string; readonly description?: string };
  readonly jsonSchemaDialect?: string;
  readonly tags?: readonly { readonly name: string; readonly description?: string }[];
  readonly paths: Readonly<Record<string, PathItem>>;
  readonly components: {
    readonly schemas: Readonly<Record<string, JsonSchema>>;
    readonly responses: Readonly<Record<string, Response>>;
    readonly securitySchemes: Readonly<Record<string, SecurityScheme>>;
  };
}

/**
 * The helpers openapi.ts passes to the modules that describe some of its paths (openapi-*.ts), so those
 * modules stay out of openapi.ts without importing it.
 */
export interface OperationHelpers<ErrorName extends string = string> {
  schema(name: string): JsonSchema;
  json(body: JsonSchema): Readonly<Record<string, MediaType>>;
  errors(...names: ErrorName[]): Readonly<Record<string, Response | Reference>>;
}
