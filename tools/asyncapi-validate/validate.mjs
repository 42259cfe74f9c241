// Parses an AsyncAPI document with the reference parser (schema $refs resolved from the
// file's own folder) and exits 1 when the parser reports any error.
import { Parser, fromFile } from '@asyncapi/parser';

const SEVERITY = ['error', 'warning', 'info', 'hint'];

const path = process.argv[2];
if (!path) {
  console.error('usage: node validate.mjs ASYNCAPI_FILE');
  process.exit(2);
}

const { document, diagnostics } = await fromFile(new Parser(), path).parse();
for (const diagnostic of diagnostics) {
  const where = diagnostic.path.join('.') || '(document)';
  console.error(`${SEVERITY[diagnostic.severity]} ${diagnostic.code} at ${where}: ${diagnostic.message}`);
}
const errors = diagnostics.filter((diagnostic) => diagnostic.severity === 0);
if (document === undefined || errors.length > 0) {
  console.error(`${path}: ${errors.length} error(s)`);
  process.exit(1);
}
console.log(`${path}: valid AsyncAPI ${document.version()}, ${document.channels().length} channels`);
