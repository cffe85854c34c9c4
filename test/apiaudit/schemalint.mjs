// The schema lint of issue 12: graphql-schema-linter, configured by
// lint-config.json, run on the SDL a gateway serves (introspection), so what
// is linted is what clients get, not the files it was built from.
//
// The Relay rules take every type whose name ends in "Connection" for a
// Relay connection. ZoomConnection (API.md's name for a linked Zoom account)
// is not one; lint-config.json names it in notRelayConnections, and the
// exclusion is derived from the schema here: that type for
// relay-connection-types-spec, and exactly the fields returning it for
// relay-connection-arguments-spec. A configured name that is missing, does
// not end in Connection or has edges (so is a Relay connection after all)
// fails the lint instead of hiding anything.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// graphql is loaded the way the linter loads it (CommonJS), so both use one
// copy of the library.
const require = createRequire(import.meta.url);
const {
  buildClientSchema, buildSchema, getIntrospectionQuery, getNullableType,
  isInterfaceType, isListType, isObjectType, printSchema,
} = require('graphql');
const linter = require('graphql-schema-linter');
const { Schema } = require('graphql-schema-linter/lib/schema.js');
const { SourceMap } = require('graphql-schema-linter/lib/source_map.js');

const here = path.dirname(fileURLToPath(import.meta.url));

/** lint-config.json: the rules, the custom rule files and the one exception. */
export function loadConfig() {
  return JSON.parse(readFileSync(path.join(here, 'lint-config.json'), 'utf8'));
}

/**
 * fetchSDL runs the standard introspection query (GraphiQL's) against a
 * gateway and prints the schema it describes.
 */
export async function fetchSDL(url, credential) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${credential}` },
    body: JSON.stringify({ query: getIntrospectionQuery() }),
  });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`introspection answered ${res.status} with non-JSON: ${text.slice(0, 300)}`);
  }
  if (res.status !== 200 || body.errors || !body.data) {
    throw new Error(`introspection failed (${res.status}): ${text.slice(0, 500)}`);
  }
  return printSchema(buildClientSchema(body.data));
}

/**
 * relayExceptions derives the ignore lists of the Relay rules from the
 * schema and config.notRelayConnections; it throws when a configured name
 * is not a type of the schema whose name ends in Connection and that has no
 * edges.
 */
export function relayExceptions(sdl, config) {
  const schema = buildSchema(sdl);
  const names = Object.keys(config.notRelayConnections || {});
  for (const name of names) {
    const type = schema.getType(name);
    if (!type) throw new Error(`notRelayConnections: the schema has no type ${name}`);
    if (!name.endsWith('Connection')) throw new Error(`notRelayConnections: ${name} does not end in Connection, so no Relay rule applies to it`);
    if ((isObjectType(type) || isInterfaceType(type)) && type.getFields().edges) {
      throw new Error(`notRelayConnections: ${name} has edges, so it is a Relay connection and must pass the Relay rules`);
    }
  }
  const fields = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) continue;
    for (const field of Object.values(type.getFields())) {
      // The arguments rule looks through one non-null wrapper, not lists.
      const t = getNullableType(field.type);
      if (!isListType(t) && names.includes(t.name)) fields.push(`${type.name}.${field.name}`);
    }
  }
  return { 'relay-connection-types-spec': names, 'relay-connection-arguments-spec': fields.sort() };
}

/**
 * lint returns the violations of sdl, each as {rule, message, line, text}.
 * A rule name the linter does not know is an error here (the linter itself
 * would only warn and skip it).
 */
export function lint(sdl, config = loadConfig()) {
  const options = {
    rules: config.rules,
    customRulePaths: (config.customRulePaths || []).map((p) => path.join(here, p)),
    ignore: relayExceptions(sdl, config),
  };
  const input = new Schema(sdl, new SourceMap({ 'served.graphql': sdl }));
  const configuration = new linter.configuration.Configuration(input, options);
  const issues = configuration.validate();
  if (issues.length > 0) throw new Error(`lint configuration: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  const rules = configuration.getRules();
  if (rules.length !== config.rules.length) {
    throw new Error(`lint configuration: ${config.rules.length} rules configured, ${rules.length} loaded`);
  }
  const lines = sdl.split('\n');
  return linter.validator.validateSchemaDefinition(input, rules, configuration).map((e) => {
    const line = e.locations?.[0]?.line;
    return { rule: e.ruleName, message: e.message, line, text: line ? lines[line - 1].trim() : '' };
  });
}

/** format renders violations one a line, for a failing test's message. */
export function format(violations) {
  return violations.map((v) => `${v.line}: [${v.rule}] ${v.message}  (${v.text})`).join('\n');
}
