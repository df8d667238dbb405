// Names inside sentences, isolated. A name written right to left (Arabic, Hebrew) put
// into "Bob joined" as plain text takes the words next to it into its own direction and
// the sentence reads scrambled; inside a <bdi> it keeps its place. Only such names are
// isolated (a left-to-right name in a left-to-right sentence cannot reorder anything);
// the text itself is unchanged, so what a test or a screen reader reads stays the same.

/** A character of a right-to-left script (Hebrew, Arabic, Syriac, Thaana, NKo, …). */
const RTL = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]/;

/**
 * `text` cut into runs, each of the right-to-left `names` found in it a run of its own
 * marked `isolate` (longer names first where two overlap).
 * @param {string} text
 * @param {Iterable<string>} names
 * @returns {{text: string, isolate: boolean}[]}
 */
export function isolatedRuns(text, names) {
  const rtl = [...new Set(names)].filter((n) => n && RTL.test(n)).sort((a, b) => b.length - a.length);
  /** @type {{text: string, isolate: boolean}[]} */
  const runs = [];
  let rest = text;
  while (rest) {
    let at = -1;
    let name = '';
    for (const n of rtl) {
      const i = rest.indexOf(n);
      if (i !== -1 && (at === -1 || i < at)) [at, name] = [i, n];
    }
    if (at === -1) break;
    if (at > 0) runs.push({ text: rest.slice(0, at), isolate: false });
    runs.push({ text: name, isolate: true });
    rest = rest.slice(at + name.length);
  }
  if (rest) runs.push({ text: rest, isolate: false });
  return runs;
}

/**
 * Shows `text` in `el` with the right-to-left `names` in it isolated.
 * @param {HTMLElement} el
 * @param {string} text
 * @param {Iterable<string>} names
 */
export function showIsolated(el, text, names) {
  el.replaceChildren(...isolatedRuns(text, names).map((r) => {
    if (!r.isolate) return document.createTextNode(r.text);
    const bdi = document.createElement('bdi');
    bdi.textContent = r.text;
    return bdi;
  }));
}
