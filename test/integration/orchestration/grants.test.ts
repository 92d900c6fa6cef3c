/**
 * The real functions on the local runtime with one grant taken out of functions/manifest.ts: the call
 * that grant covered is refused as on AWS, and the task records why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskIdFor } from '../../../functions/core/keys.ts';
import { FUNCTIONS } from '../../../functions/manifest.ts';
import { type Harness, startHarness, submit, tenantConfig, waitForPlan, waitForTask } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  // run-stage puts TenantConfigChanged on the bus after each broadcast; here it may not.
  h = await startHarness({
    functions: FUNCTIONS.map((f) => (f.name === 'run-stage' ? { ...f, uses: [] } : f)),
  });
});
afterAll(async () => {
  await h?.stop();
});

describe('a grant removed from the manifest', () => {
  it('fails the stage that needs it with AccessDeniedException, naming the action and the bus', async () => {
    const { plan } = await submit(h, { configs: [tenantConfig(h.engine, 'ungranted', '2', ['app'])] });

    const task = await waitForTask(h, taskIdFor(plan.planId, 0), (t) => t.status === 'FAILED');
    await waitForPlan(h, plan.planId, ['FAILED']);

    expect(task.failureInfo?.message).toContain('AccessDeniedException');
    expect(task.failureInfo?.message).toContain(
      'is not authorized to perform: events:PutEvents on resource: arn:aws:events:us-east-1:000000000000:event-bus/tenant-rollout',
    );
  });
});
