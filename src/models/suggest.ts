/**
 * "Did you mean" for a model name zoo does not know. Plain edit distance suggests the wrong models
 * (`resnext50` is 3 edits from rexnet_150 and 6 from resnext50_32x4d), so the order is: names that
 * extend what was typed (prefix), then the same family (`resnext101` -> resnext101_32x8d), then,
 * for a timm architecture zoo does not implement, saying so instead of guessing, and only then
 * close spellings. Everything ignores case.
 */

/** Levenshtein distance (insert, delete, substitute). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The family of a name: its leading letters, without timm's `tf_` port prefix (`resnext50_32x4d` -> resnext). */
export function familyOf(name: string): string {
  return /^[a-z]+/.exec(name.toLowerCase().replace(/^tf_/, ''))?.[0] ?? '';
}

/**
 * Architecture families timm has and zoo does not implement. A name from one of these gets "zoo
 * does not implement it" rather than a wrong guess from another family.
 */
const TIMM_ONLY = /^(tf_)?(resnet|resnetv2|resnetrs|resnest|res2net|res2next|wide_resnet|seresnet|seresnext|senet|legacy_|vit|deit|beit|eva|cait|xcit|crossvit|convnext|convnextv2|efficientnet_[bel]|efficientnet_cc|efficientnet_lite|efficientvit|mobilenet|mobilevit|mobileone|regnet|swin|densenet|inception|xception|dpn|nfnet|dm_nfnet|eca_nfnet|ghostnet|mixnet|mnasnet|levit|coat|maxvit|maxxvit|poolformer|caformer|convformer|twins|pit_|tnt_|edgenext|fastvit|hrnet|vgg|davit|hiera|dla|cspresnet|cspresnext|cspdarknet|darknet|repvgg|rdnet|tresnet|selecsls|gernet|botnet|halonet|lambda_resnet|volo|gcvit|mvitv2|nest_|sequencer|visformer|inception_next|hgnet|fbnet|lcnet|tinynet|spnasnet|semnasnet|skresnet|skresnext|ecaresnet|gluon_|ig_resnext|ssl_|swsl_|bat_resnext|nasnet|pnasnet|cspnet|vovnet|ese_vovnet|convmixer|convit|deit3|flexivit|samvit|eva02|beitv2|mambaout|starnet|ghostnetv|repvit|efficientformer|tiny_vit|focalnet|nextvit|inception_resnet)/;

export type Suggestion =
  /** Names zoo has that are probably what was meant. */
  | { kind: 'names'; names: string[] }
  /** A timm architecture zoo does not implement. */
  | { kind: 'timm-only'; family: string };

/**
 * What to tell the user about `typed`, an unknown name. `archs` are zoo's architecture names,
 * `tagNames` its `arch.tag` names.
 */
export function suggest(typed: string, archs: readonly string[], tagNames: readonly string[]): Suggestion {
  const q = typed.trim().toLowerCase();
  const base = q.split('.')[0]!;
  const byDistance = (list: readonly string[]) =>
    [...list].sort((x, y) => editDistance(q, x.toLowerCase()) - editDistance(q, y.toLowerCase()) || x.localeCompare(y));

  // 1. Names that extend what was typed: resnext50 -> resnext50_32x4d.
  const extending = archs.filter((a) => a.toLowerCase().startsWith(base));
  if (extending.length > 0) return { kind: 'names', names: byDistance(extending).slice(0, 3) };
  const tagExtending = tagNames.filter((t) => t.toLowerCase().startsWith(q));
  if (tagExtending.length > 0) return { kind: 'names', names: byDistance(tagExtending).slice(0, 3) };

  // 2. A timm architecture zoo does not have: say so rather than guess from another family.
  if (TIMM_ONLY.test(q)) return { kind: 'timm-only', family: familyOf(q) };

  // 3. The same family: resnext101 -> resnext101_32x8d, resnext101_64x4d.
  const family = familyOf(q);
  const sameFamily = family.length >= 3 ? archs.filter((a) => familyOf(a) === family) : [];
  if (sameFamily.length > 0) return { kind: 'names', names: byDistance(sameFamily).slice(0, 3) };

  // 4. Close spellings only: a name many edits away is no suggestion.
  const limit = Math.max(2, Math.floor(q.length / 4));
  const close = byDistance([...archs, ...tagNames]).filter((c) => editDistance(q, c.toLowerCase()) <= limit);
  return { kind: 'names', names: close.slice(0, 3) };
}
