/**
 * Node labels cut with an ellipsis to fit their node. Fitted lazily, when a label is first
 * painted, and measured as little as possible: a label whose width estimated from its
 * characters (each measured once per font) is clearly below the limit is never measured;
 * the others are measured exactly. Each distinct label is fitted once per width.
 */

/** Labels that would be at least this share of the limit are measured exactly (kerning and
 * ligatures make a text a few per cent narrower or wider than the sum of its characters). */
const SURE_FIT = 0.9;
/** A view kept open across many graphs forgets old labels past this many. */
const MAX_CACHED = 50_000;

/** Fits labels for one font; `measure` gives a text's width in that font. */
export class LabelFitter {
  constructor(private readonly _measure: (text: string) => number) {}

  /** `text`, or its longest start with an ellipsis, that fits `max` pixels. */
  fit(text: string, max: number): string {
    const key = `${max}\u0000${text}`;
    let fitted = this._fitted.get(key);
    if (fitted === undefined) {
      fitted = this._estimate(text) <= max * SURE_FIT ? text : this._ellipsize(text, max);
      if (this._fitted.size >= MAX_CACHED) {
        this._fitted.clear();
      }
      this._fitted.set(key, fitted);
    }
    return fitted;
  }

  /** How many labels were measured exactly (tests, benchmark). */
  measured = 0;

  private _estimate(text: string): number {
    let width = 0;
    for (const ch of text) {
      let w = this._chars.get(ch);
      if (w === undefined) {
        w = this._measure(ch);
        this._chars.set(ch, w);
      }
      width += w;
    }
    return width;
  }

  private _ellipsize(text: string, max: number): string {
    this.measured++;
    if (this._measure(text) <= max) {
      return text;
    }
    let lo = 0;
    let hi = text.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this._measure(text.slice(0, mid) + '…') <= max) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return text.slice(0, lo) + '…';
  }

  private _chars = new Map<string, number>();
  private _fitted = new Map<string, string>();
}
