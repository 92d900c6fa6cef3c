/**
 * The API's public entry point: a CloudFront distribution in front of the HTTP API whose viewer-request
 * function (functions/edge/body-limit.js, with the API's body limit written in) refuses a body over the
 * limit (413) or of undeclared size (411) before it reaches API Gateway. An HTTP API cannot have AWS
 * WAF, and without this gate a body between the limit and API Gateway's 10 MB would reach Lambda's 6 MB
 * event limit and come back as API Gateway's 500. Nothing is cached and every method is forwarded, with
 * every viewer header but Host (API Gateway routes on its own host name). With caching disabled the
 * managed AllViewerExceptHostHeader policy forwards Authorization too
 * (https://repost.aws/knowledge-center/cloudfront-authorization-header).
 */
import { Stack } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  Function as EdgeFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HttpVersion,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  PriceClass,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { Construct } from 'constructs';
import { bodyLimitFunctionCode } from '../../functions/edge/index.ts';
import { acknowledge } from '../nag.ts';

export interface ApiEdgeProps {
  httpApi: IHttpApi;
  /** The API's body limit in bytes (functions/api/routes.ts MAX_BODY_BYTES). */
  maxBodyBytes: number;
}

export class ApiEdge extends Construct {
  public readonly bodyLimit: EdgeFunction;
  public readonly distribution: Distribution;

  constructor(scope: Construct, id: string, props: ApiEdgeProps) {
    super(scope, id);
    if (!Number.isSafeInteger(props.maxBodyBytes) || props.maxBodyBytes <= 0) {
      throw new Error(`maxBodyBytes must be a positive byte count, got ${props.maxBodyBytes}`);
    }
    const stack = Stack.of(this);

    this.bodyLimit = new EdgeFunction(this, 'BodyLimit', {
      code: FunctionCode.fromInline(bodyLimitFunctionCode(props.maxBodyBytes)),
      runtime: FunctionRuntime.JS_2_0,
      comment: `API body gate: 413 over ${props.maxBodyBytes} bytes, 411 without Content-Length`,
    });
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'tenant-rollout API (body gate in front of the HTTP API)',
      defaultBehavior: {
        origin: new HttpOrigin(`${props.httpApi.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`, {
          protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
        }),
        allowedMethods: AllowedMethods.ALLOW_ALL,
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        cachePolicy: CachePolicy.CACHING_DISABLED,
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        functionAssociations: [{ function: this.bodyLimit, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
    });
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR1',
      'Operators call the API from wherever they are; the API authorizer, not geography, decides who may.',
    );
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR2',
      'The body limit is enforced by the viewer-request function and request rates by the API stage throttle; a web ACL (priced per request) is left to the deployer.',
    );
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR3',
      "Every request that passes the edge is in the API stage's access log; standard logging would need an ACL-enabled S3 bucket this stack otherwise does not have. Edge refusals show in the distribution's 4xx metrics.",
    );
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR4',
      'The distribution uses its default *.cloudfront.net certificate, for which CloudFront does not let the minimum TLS version be chosen; raising it needs a custom domain with its own certificate, which this stack does not configure.',
    );
  }

  /** The URL callers use. */
  get url(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }
}
