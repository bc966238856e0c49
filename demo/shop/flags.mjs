// Feature flags for the shop's services through OpenFeature: the provider is opspilot's own OFREP provider
// (dist/flags/openfeature-provider.js, the build of the server that runs the demo), configured from what the
// runtime injects (OPSPILOT_FLAGS_URL, OPSPILOT_FLAGS_TOKEN: a credential that evaluates this component's flags
// and opens nothing else). Outside opspilot, or before a build, no provider is set and every flag answers its
// code default.
import { OpenFeature } from '@openfeature/server-sdk';

let provider;
try {
  const { ofrepProviderForReplica } = await import('../../dist/flags/openfeature-provider.js');
  provider = ofrepProviderForReplica(process.env);
} catch (error) {
  console.log(JSON.stringify({ level: 'warn', msg: `feature flags use code defaults: ${error.message}` }));
}
if (provider !== undefined) OpenFeature.setProvider(provider);

/** The OpenFeature client of this service. */
export const flags = OpenFeature.getClient();
