/** EventBridge "Rollout Plan Requested": the detail is a POST /v1/plans body; it starts a plan the same way. */
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { depsFromEnv } from './core/deps.ts';
import { ValidationError } from './core/errors.ts';
import { appendLogKeys, logger, observability } from './core/observability.ts';
import { submitPlan } from './core/orchestration/plan-flow.ts';
import type { PLAN_REQUESTED_DETAIL_TYPE } from './core/resources.ts';

const deps = depsFromEnv();

type Result = { planId: string; created: boolean } | { rejected: true; reason: string };

export const handler = middy<
  EventBridgeEvent<typeof PLAN_REQUESTED_DETAIL_TYPE, unknown>,
  Result,
  Error,
  Context
>()
  .use(observability())
  .handler(async (event) => {
    try {
      // The event id makes redelivery of the same event idempotent.
      const { plan, created } = await submitPlan(deps, event.detail, `event-${event.id}`);
      appendLogKeys({ planId: plan.planId });
      logger.info({
        message: created ? 'plan requested by event' : 'plan request repeated',
        eventId: event.id,
      });
      return { planId: plan.planId, created };
    } catch (error) {
      // A malformed request will never succeed; retrying it would only repeat the rejection.
      if (error instanceof ValidationError) {
        logger.warn({ message: 'rejected plan request', eventId: event.id, reason: error.message });
        return { rejected: true, reason: error.message };
      }
      throw error;
    }
  });
