import type { CodegenConfig } from "@graphql-codegen/cli";

// Types and typed documents from Tailor's public contract: the exported schema and the operation
// documents every frontend shares. `npm run codegen` writes src/gql/ (not committed; `prebuild`
// runs it before `next build`).
const config: CodegenConfig = {
  // TAILOR_SCHEMA: another SDL file, or a running Tailor's "http://127.0.0.1:8000/graphql/" (introspection)
  schema: process.env.TAILOR_SCHEMA || "../../graphql/schema.graphql",
  documents: ["../../graphql/operations/*.graphql"],
  ignoreNoDocuments: false,
  generates: {
    "./src/gql/": {
      preset: "client",
      presetConfig: {
        fragmentMasking: false, // components read the fields they are given; no unmasking helper
      },
      config: {
        // Documents as strings (a TypedDocumentString): sent with fetch as is, no graphql-js at runtime.
        documentMode: "string",
        useTypeImports: true,
        enumType: "string-literal",
        avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false },
        // Custom scalars cross the wire as JSON: map each to what it is in TypeScript.
        scalars: {
          DateTime: "string", // ISO 8601
          ContextDateTime: "string", // ISO 8601, offset optional
          Date: "string",
          Time: "string",
          UUID: "string",
          PositiveInt: "number",
          JSON: "unknown", // any JSON value (ContextFact.value): narrow before use
          JSONString: "string", // JSON text: JSON.parse it
          GenericScalar: "unknown",
        },
        defaultScalarType: "unknown", // a scalar added later is `unknown` until mapped here
      },
    },
  },
};

export default config;
