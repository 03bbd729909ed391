/**
 * What a family file exports: one Architecture per model variant, written once against Ops.
 * The registry (registry.ts) adds pretrained tags, eval configs and published numbers.
 */
import type { ForwardFn } from './record.js';

export type Family = 'rexnet' | 'resnext' | 'condensenetv2' | 'efficientnetv2';
/** Whose state_dict names the family uses for this variant. */
export type Naming = 'timm' | 'torchvision' | 'official';

export interface Architecture {
  /** Name users type: `rexnet_100`, `rexnetv1_1.0x`, `efficientnet_v2_s`, `cdnv2_a`. */
  readonly name: string;
  readonly family: Family;
  readonly naming: Naming;
  /** Key of this model in shared/golden/models/manifest.json (e.g. `official/rexnetv1_1.0x`). */
  readonly goldenKey?: string;
  /** Default input [H, W] for the architecture when no tag says otherwise. */
  readonly defaultSize: readonly [number, number];
  readonly forward: ForwardFn;
  /** Checkpoint entries the upstream module has but the eval forward does not use. */
  readonly ignoreUnused?: (name: string) => boolean;
}
