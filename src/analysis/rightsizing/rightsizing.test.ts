import { describe, expect, it } from 'vitest';
import { recommend, type ObservedUsage } from './rightsizing.js';

const mebibyte = 1024 * 1024;

function usage(overrides: Partial<ObservedUsage> = {}): ObservedUsage {
  return {
    component: 'cart',
    environment: 'prod',
    replicas: 2,
    cpu: { avgMillicores: 40, maxMillicores: 90, requestMillicores: 500, limitMillicores: null },
    memory: {
      avgBytes: 60 * mebibyte,
      maxBytes: 80 * mebibyte,
      requestBytes: 512 * mebibyte,
      limitBytes: 1024 * mebibyte,
    },
    ...overrides,
  };
}

describe('right-sizing', () => {
  it('shrinks an over-provisioned binding to its observed load plus headroom', () => {
    expect(recommend(usage())).toMatchObject({
      verdict: 'over-provisioned',
      requests: { cpu: '70m', memory: '96Mi' },
      limits: { memory: '120Mi' },
      cpuChangeMillicores: 430,
      memoryChangeBytes: (512 - 96) * mebibyte,
    });
  });

  it('grows a binding whose peak memory nears its limit, and never recommends a limit under the peak', () => {
    const tight = recommend(
      usage({
        memory: {
          avgBytes: 100 * mebibyte,
          maxBytes: 120 * mebibyte,
          requestBytes: 64 * mebibyte,
          limitBytes: 128 * mebibyte,
        },
      }),
    );
    expect(tight.verdict).toBe('under-provisioned');
    expect(tight.limits.memory).toBe('180Mi');
    expect(tight.reason).toContain('memory peak 120Mi');
  });

  it('says when there is nothing to base a recommendation on', () => {
    expect(recommend(usage({ replicas: 0 })).verdict).toBe('no-data');
  });
});
