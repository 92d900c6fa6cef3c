/**
 * The HTTP API: one API Gateway route per entry of the shared route table, all integrated with
 * the `api` function. `bearer` routes are guarded by a JWT authorizer when an issuer and audience
 * are configured, by IAM (SigV4) otherwise; `none` routes (health, OpenAPI) are open.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { pascal } from '../../statemachines/index.ts';
import type { AuthConfig } from '../config.ts';
import { acknowledge } from '../nag.ts';

/** What CDK needs from a route-table entry (functions/api/routes.ts). */
export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  auth: 'none' | 'bearer';
}

export interface ApiProps {
  prefix: string;
  routes: readonly ApiRoute[];
  handler: IFunction;
  /** JWT settings; IAM authorization when absent. */
  auth?: AuthConfig;
  throttle: { rateLimit: number; burstLimit: number };
  logRetention: RetentionDays;
}

const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
};

export class Api extends Construct {
  public readonly httpApi: HttpApi;
  public readonly stage: HttpStage;
  public readonly accessLogs: LogGroup;
  public readonly routes: readonly HttpRoute[];
  /** `JWT` or `AWS_IAM`: what guards the `bearer` routes. */
  public readonly authorizationType: string;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    if (props.routes.length === 0) throw new Error('the route table is empty');
    const keys = props.routes.map((r) => `${r.method} ${r.path}`);
    const repeated = keys.filter((k, i) => keys.indexOf(k) !== i);
    if (repeated.length) throw new Error(`the route table repeats ${repeated.join(', ')}`);
    for (const route of props.routes) {
      if (!route.path.startsWith('/')) throw new Error(`route path must start with '/': ${route.path}`);
    }

    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: props.prefix,
      description: 'tenant-rollout control plane API',
      createDefaultStage: false,
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const guard: IHttpRouteAuthorizer = props.auth
      ? new HttpJwtAuthorizer('JwtAuthorizer', props.auth.issuer, {
          jwtAudience: props.auth.audience,
          identitySource: ['$request.header.Authorization'],
        })
      : new HttpIamAuthorizer();
    this.authorizationType = props.auth ? 'JWT' : 'AWS_IAM';
    const open = new HttpNoneAuthorizer();
    // One invoke permission for the API instead of one per route: the function serves every route,
    // and 26 route-scoped statements would crowd the function's 20 KB resource policy.
    const integration = new HttpLambdaIntegration('ApiIntegration', props.handler, {
      scopePermissionToRoute: false,
    });

    this.routes = props.routes.map((route) => {
      const httpRoute = new HttpRoute(this, `${route.method}${pascal(route.path) || 'Root'}Route`, {
        httpApi: this.httpApi,
        routeKey: HttpRouteKey.with(route.path, HttpMethod[route.method]),
        integration,
        authorizer: route.auth === 'none' ? open : guard,
      });
      if (route.auth === 'none') {
        acknowledge(
          httpRoute,
          'AwsSolutions-APIG4',
          `${route.method} ${route.path} is public by design (auth 'none' in the route table: health, API description, the web console's static files).`,
        );
      }
      return httpRoute;
    });
  }

  /** The URL callers use (the `$default` stage). */
  get url(): string {
    return this.httpApi.apiEndpoint;
  }
}
