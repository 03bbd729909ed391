import { basename } from 'node:path';

/** Where a pretrained tag's weights come from. */
export type WeightsSource =
  /** A file in a Hugging Face repo, fetched from $ZOO_HF_ENDPOINT (default https://huggingface.co). */
  | { kind: 'hf'; repo: string; file: string; revision?: string; sha256?: string; size?: number }
  /** A direct URL (torchvision's download server); torchvision file names end in the SHA-256's first 8 hex digits. */
  | { kind: 'url'; url: string; sha256?: string; sha256Prefix?: string; size?: number }
  /** Not downloadable automatically: the user fetches it and passes --weights. */
  | { kind: 'manual'; url: string; instructions: string }
  /** A model file shipped inside the package (the embedded default), path relative to the package root. */
  | { kind: 'embedded'; path: string; sha256: string; size: number };

/** One line saying where the weights come from, for `zoo info` and error messages. */
export function describeSource(w: WeightsSource): string {
  switch (w.kind) {
    case 'hf':
      return `Hugging Face ${w.repo} ${w.file}`;
    case 'url':
      return w.url;
    case 'embedded':
      return `shipped with zoo: ${w.path}`;
    case 'manual':
      return `manual download: ${w.instructions}${w.url ? ` (${w.url})` : ''}`;
  }
}

/** torchvision and torch.hub put the SHA-256's first hex digits in the file name: name-<hex>.pth. */
function hashPrefixFromName(url: string): string | undefined {
  let name: string;
  try {
    name = basename(new URL(url).pathname);
  } catch {
    return undefined;
  }
  return /-([0-9a-f]{8,64})\./.exec(name)?.[1];
}

/** The start of the SHA-256 a URL source's file must have: the catalogue's, else its file name's; lower case. */
export function sha256PrefixOf(source: Extract<WeightsSource, { kind: 'url' }>): string | undefined {
  return (source.sha256Prefix ?? hashPrefixFromName(source.url))?.toLowerCase();
}
