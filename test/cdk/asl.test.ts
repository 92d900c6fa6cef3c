/**
 * The ASL files checked offline as AWS would: AWS's own language service (the one behind the
 * Step Functions editors), and the rules a definition can satisfy and still fail at run time.
 */
import { readFileSync } from 'node:fs';
import asl from 'amazon-states-language-service';
import { describe, expect, it } from 'vitest';
import { readDefinition, STATE_MACHINES } from '../../statemachines/index.ts';

const { getLanguageService, TextDocument } = asl;

interface State {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Retry?: { ErrorEquals: string[] }[];
  ItemProcessor?: Machine;
  Branches?: Machine[];
}
interface Machine {
  TimeoutSeconds?: number;
  States: Record<string, State>;
}

/** Every state of a machine, nested Map and Parallel states included. */
function statesOf(machine: Machine): [string, State][] {
  return Object.entries(machine.States).flatMap(([name, state]) => [
    [name, state] as [string, State],
    ...(state.ItemProcessor ? statesOf(state.ItemProcessor) : []),
    ...(state.Branches ?? []).flatMap(statesOf),
  ]);
}

const machines = STATE_MACHINES.map((spec) => ({
  name: spec.name,
  file: spec.file,
  definition: JSON.parse(readDefinition(spec)) as Machine,
}));

describe.each(machines)('$name machine', ({ file, definition }) => {
  it('has no diagnostic from amazon-states-language-service', async () => {
    const service = getLanguageService({});
    const document = TextDocument.create(file, 'json', 1, readFileSync(file, 'utf8'));

    const diagnostics = await service.doValidation(document, service.parseJSONDocument(document));

    expect(diagnostics.map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('bounds every wait for a call-back or a child with a state timeout below the execution timeout', () => {
    // An execution timeout cannot be caught; a state timeout can (States.Timeout), so the task records why.
    const waits = statesOf(definition).filter(([, s]) =>
      /\.(waitForTaskToken|sync(:2)?)$/.test(s.Resource ?? ''),
    );

    for (const [name, state] of waits) {
      expect(state.TimeoutSeconds ?? state.TimeoutSecondsPath, name).toBeDefined();
      if (state.TimeoutSeconds !== undefined) {
        expect(state.TimeoutSeconds, name).toBeLessThan(definition.TimeoutSeconds!);
      }
    }
  });

  it('retries every transient Lambda error AWS recommends retrying, ClientExecutionTimeoutException included', () => {
    // https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
    const lambdaRetries = statesOf(definition)
      .flatMap(([name, s]) => (s.Retry ?? []).map((r) => [name, r.ErrorEquals] as const))
      .filter(([, errors]) => errors.includes('Lambda.ServiceException'));

    expect(lambdaRetries.length).toBeGreaterThan(0);
    for (const [name, errors] of lambdaRetries) {
      expect(errors, name).toEqual(
        expect.arrayContaining([
          'Lambda.ServiceException',
          'Lambda.AWSLambdaException',
          'Lambda.SdkClientException',
          'Lambda.TooManyRequestsException',
          'Lambda.ClientExecutionTimeoutException',
        ]),
      );
    }
  });
});

describe('the plan machine', () => {
  it('keeps no per-tenant output in its Distributed Map: each item ends with an empty output', () => {
    const plan = machines.find((m) => m.name === 'plan')!.definition;
    const map = Object.values(plan.States).find((s) => s.ItemProcessor)!;
    const ends = Object.values(map.ItemProcessor!.States).filter(
      (s) => (s as { End?: boolean }).End || s.Type === 'Succeed',
    );

    expect(ends.length).toBeGreaterThan(0);
    for (const end of ends) expect(end).toHaveProperty('OutputPath', null);
  });
});
