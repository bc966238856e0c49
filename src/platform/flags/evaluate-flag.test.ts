import { describe, expect, it } from 'vitest';
import { featureFlagSpecSchema } from '../resource-kinds.js';
import { evaluateFlag, type NamedFlag } from './evaluate-flag.js';

const flag = (spec: unknown, generation = 3): NamedFlag => ({
  name: 'strategy',
  spec: featureFlagSpecSchema.parse(spec),
  generation,
});

const strategy = flag({
  type: 'string',
  variants: { popular: 'popular', similar: 'similar', none: 'none' },
  defaultVariant: 'popular',
  targeting: [
    { environments: ['staging'], tenants: ['acme'], variant: 'none' },
    { environments: ['staging'], variant: 'similar' },
    { tenants: ['acme'], variant: 'similar' },
  ],
});

describe('evaluateFlag', () => {
  it('takes the first rule whose every condition holds', () => {
    expect(evaluateFlag('strategy', strategy, { environment: 'staging', tenant: 'acme' })).toEqual({
      key: 'strategy',
      value: 'none',
      variant: 'none',
      reason: 'TARGETING_MATCH',
      flagMetadata: { type: 'string', generation: 3 },
    });
    expect(evaluateFlag('strategy', strategy, { environment: 'staging', tenant: 'other' })).toMatchObject({
      variant: 'similar',
      reason: 'TARGETING_MATCH',
    });
    expect(evaluateFlag('strategy', strategy, { environment: 'prod', tenant: 'acme' })).toMatchObject({
      variant: 'similar',
      reason: 'TARGETING_MATCH',
    });
  });

  it('answers the default with DEFAULT when rules exist but none matches, STATIC when there are none', () => {
    expect(evaluateFlag('strategy', strategy, { environment: 'prod' })).toMatchObject({
      value: 'popular',
      reason: 'DEFAULT',
    });
    const plain = flag({ type: 'boolean', variants: { on: true, off: false }, defaultVariant: 'off' });
    expect(evaluateFlag('plain', plain, { environment: 'prod' })).toMatchObject({
      value: false,
      variant: 'off',
      reason: 'STATIC',
    });
  });

  it('a rule naming a tenant does not match a context without one', () => {
    const onlyTenant = flag({
      type: 'number',
      variants: { few: 1, many: 5 },
      defaultVariant: 'few',
      targeting: [{ tenants: ['acme'], variant: 'many' }],
    });
    expect(evaluateFlag('n', onlyTenant, { environment: 'prod' })).toMatchObject({ value: 1 });
  });

  it('a disabled flag gives its default variant, whatever the rules say', () => {
    const disabled = flag({ ...strategy.spec, disabled: true });
    expect(evaluateFlag('strategy', disabled, { environment: 'staging', tenant: 'acme' })).toMatchObject({
      value: 'popular',
      variant: 'popular',
      reason: 'DISABLED',
    });
  });

  it('reports a missing flag and a type the caller did not expect', () => {
    expect(evaluateFlag('gone', undefined, {})).toEqual({
      key: 'gone',
      errorCode: 'FLAG_NOT_FOUND',
      errorDetails: 'flag gone does not exist',
    });
    expect(evaluateFlag('strategy', strategy, {}, 'boolean')).toMatchObject({
      errorCode: 'TYPE_MISMATCH',
      errorDetails: 'flag strategy is of type string, not boolean',
    });
    expect(evaluateFlag('strategy', strategy, {}, 'string')).toMatchObject({ value: 'popular' });
  });

  it('object flags carry JSON values', () => {
    const layout = flag({
      type: 'object',
      variants: { wide: { columns: 4 }, narrow: { columns: 2 } },
      defaultVariant: 'narrow',
    });
    expect(evaluateFlag('layout', layout, {})).toMatchObject({ value: { columns: 2 } });
  });
});

describe('FeatureFlag spec', () => {
  const refusals = (spec: unknown): string[] => {
    const result = featureFlagSpecSchema.safeParse(spec);
    return result.success
      ? []
      : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  it('refuses a default variant that is not a variant', () => {
    expect(refusals({ type: 'boolean', variants: { on: true }, defaultVariant: 'off' })).toEqual([
      'defaultVariant: defaultVariant off is not a variant (variants: on)',
    ]);
  });

  it('refuses variant values of another type', () => {
    expect(
      refusals({ type: 'number', variants: { one: 1, two: 'two', list: [2] }, defaultVariant: 'one' }),
    ).toEqual([
      "variants.two: variant two is string, but the flag's type is number",
      "variants.list: variant list is an array, but the flag's type is number",
    ]);
  });

  it('refuses rules naming unknown variants or no condition, and flags without variants', () => {
    expect(
      refusals({
        type: 'boolean',
        variants: { on: true, off: false },
        defaultVariant: 'off',
        targeting: [{ environments: ['dev'], variant: 'maybe' }, { variant: 'on' }],
      }),
    ).toEqual([
      'targeting.0.variant: variant maybe is not a variant (variants: on, off)',
      'targeting.1: a rule names environments, tenants or both (to change every evaluation, set defaultVariant)',
    ]);
    expect(refusals({ type: 'boolean', variants: {}, defaultVariant: 'on' })).toContain(
      'variants: give at least one variant',
    );
    expect(refusals({ type: 'colour', variants: { on: true }, defaultVariant: 'on' })).toHaveLength(1);
  });
});
