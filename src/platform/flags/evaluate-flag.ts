// Evaluates a FeatureFlag for one evaluation context, in OpenFeature's resolution-details vocabulary (reason
// codes STATIC, TARGETING_MATCH, DISABLED, DEFAULT; error codes FLAG_NOT_FOUND, TYPE_MISMATCH), so that the OFREP
// endpoint and the provider speak the standard's words. Pure: the caller reads the flag.
import { flagValueMatches, type FeatureFlagSpec, type FeatureFlagType } from '../resource-kinds.js';

export interface FlagContext {
  readonly environment?: string | undefined;
  readonly tenant?: string | undefined;
  /** OpenFeature's targeting key; no rule uses it yet (no percentage rollouts), it is accepted and ignored. */
  readonly targetingKey?: string | undefined;
}

export type FlagReason = 'STATIC' | 'TARGETING_MATCH' | 'DISABLED' | 'DEFAULT';
export type FlagErrorCode = 'FLAG_NOT_FOUND' | 'TYPE_MISMATCH';

export interface FlagResolution {
  readonly key: string;
  readonly value: unknown;
  readonly variant: string;
  readonly reason: FlagReason;
  readonly flagMetadata: Readonly<Record<string, string | number | boolean>>;
}

export interface FlagFailure {
  readonly key: string;
  readonly errorCode: FlagErrorCode;
  readonly errorDetails: string;
}

export interface NamedFlag {
  readonly name: string;
  readonly spec: FeatureFlagSpec;
  /** The resource's generation: clients see which version of the flag answered. */
  readonly generation?: number | undefined;
}

export function isFlagFailure(result: FlagResolution | FlagFailure): result is FlagFailure {
  return 'errorCode' in result;
}

/**
 * The variant for `context`: a disabled flag gives its default (DISABLED); otherwise the first rule whose every
 * named condition holds (TARGETING_MATCH); otherwise the default, reported STATIC when no rule could ever change
 * it and DEFAULT when rules exist but none matched. `expected` is the type the caller asks for, if any.
 */
export function evaluateFlag(
  key: string,
  flag: NamedFlag | undefined,
  context: FlagContext,
  expected?: FeatureFlagType,
): FlagResolution | FlagFailure {
  if (flag === undefined) {
    return { key, errorCode: 'FLAG_NOT_FOUND', errorDetails: `flag ${key} does not exist` };
  }
  const { spec } = flag;
  if (expected !== undefined && expected !== spec.type) {
    return {
      key,
      errorCode: 'TYPE_MISMATCH',
      errorDetails: `flag ${key} is of type ${spec.type}, not ${expected}`,
    };
  }
  const answer = (variant: string, reason: FlagReason): FlagResolution | FlagFailure => {
    const value = spec.variants[variant];
    // The schema refuses such a flag; a stored one from an older schema must not answer with a wrong type.
    if (value === undefined || !flagValueMatches(spec.type, value)) {
      return {
        key,
        errorCode: 'TYPE_MISMATCH',
        errorDetails: `variant ${variant} of flag ${key} is not a ${spec.type}`,
      };
    }
    return {
      key,
      value,
      variant,
      reason,
      flagMetadata: {
        type: spec.type,
        ...(flag.generation === undefined ? {} : { generation: flag.generation }),
      },
    };
  };
  if (spec.disabled) return answer(spec.defaultVariant, 'DISABLED');
  const rule = spec.targeting.find((candidate) => ruleMatches(candidate, context));
  if (rule !== undefined) return answer(rule.variant, 'TARGETING_MATCH');
  return answer(spec.defaultVariant, spec.targeting.length === 0 ? 'STATIC' : 'DEFAULT');
}

function ruleMatches(rule: FeatureFlagSpec['targeting'][number], context: FlagContext): boolean {
  const within = (allowed: readonly string[] | undefined, value: string | undefined): boolean =>
    allowed === undefined || (value !== undefined && allowed.includes(value));
  return within(rule.environments, context.environment) && within(rule.tenants, context.tenant);
}
