// First start: the default namespace, the dev → staging → prod environments and the pipeline joining them.
import { apiVersion } from './resource-kinds.js';
import type { ApplyItem } from './contracts.js';
import type { PlatformService } from './platform-service.js';

export const seedDocuments: readonly unknown[] = [
  { apiVersion, kind: 'Namespace', metadata: { name: 'default' }, spec: { displayName: 'Default' } },
  { apiVersion, kind: 'Environment', metadata: { name: 'dev' }, spec: { displayName: 'Development' } },
  { apiVersion, kind: 'Environment', metadata: { name: 'staging' }, spec: { displayName: 'Staging' } },
  {
    apiVersion,
    kind: 'Environment',
    metadata: { name: 'prod' },
    spec: { displayName: 'Production', production: true },
  },
  {
    apiVersion,
    kind: 'DeploymentPipeline',
    metadata: { name: 'default' },
    spec: {
      stages: [
        { environment: 'dev' },
        { environment: 'staging' },
        { environment: 'prod', requiresApproval: true },
      ],
    },
  },
];

/** Seeds the defaults when the store holds no namespace at all; later starts leave what users changed alone. */
export async function bootstrapPlatform(platform: PlatformService): Promise<readonly ApplyItem[]> {
  const namespaces = await platform.list('Namespace');
  if (namespaces.length > 0) return [];
  return (await platform.apply(seedDocuments)).items;
}
