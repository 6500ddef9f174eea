// Small hand-drawn SVG charts: stacked bars and lines over one set of labels, drawn at the width they are given
// (so text stays readable from a 360 px phone to a wall screen), each value also in a tooltip.
import { html, useEffect, useRef, useState } from "../js/ui.js";
import { t } from "../js/i18n.js";

const PAD = { top: 12, right: 12, bottom: 30, left: 52 };
const HEIGHT = 220;

function useWidth() {
  const ref = useRef(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const element = ref.current;
    const measure = () => setWidth(Math.max(240, Math.floor(element.clientWidth)));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

/** A round upper bound for the axis: 1, 2, 2.5 or 5 times a power of ten. */
function niceMax(max) {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 2.5, 5, 10].map((step) => step * power).find((top) => top >= max);
}

/** The axis top for a unit: whole quarters for counts, whole minutes for durations over two minutes. */
function axisTop(max, unit) {
  if (unit === "count") return Math.max(4, Math.ceil(niceMax(max) / 4) * 4);
  if (unit === "seconds" && max > 120) return Math.ceil(niceMax(max / 60) / 4) * 4 * 60;
  return niceMax(max);
}

function Legend({ bars, lines }) {
  return html`<ul class="legend">
    ${bars.map((s) => html`<li><span class="swatch" style=${{ background: s.color }}></span>${s.label}</li>`)}
    ${lines.map(
      (s) => html`<li><span class=${`swatch line ${s.dashed ? "dashed" : ""}`} style=${{ borderColor: s.color }}></span>${s.label}</li>`,
    )}
  </ul>`;
}

/**
 * A chart over `labels`: `bars` are stacked, `lines` drawn on top; each series is { key, label, color, values }.
 * `format` writes a value for the axis and the tooltips; `unit` (count, seconds, decimal) picks round axis steps.
 */
export function Chart({ id, title, labels, bars = [], lines = [], format = String, unit = "decimal", summary }) {
  const [ref, width] = useWidth();
  const n = labels.length;
  const stackTops = labels.map((_, i) => bars.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  const lineMax = Math.max(0, ...lines.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined)));
  const top = axisTop(Math.max(0, ...stackTops, lineMax), unit);
  const empty = !stackTops.some((v) => v > 0) && lineMax === 0;
  const plotW = Math.max(1, width - PAD.left - PAD.right);
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, n);
  const y = (value) => PAD.top + plotH - (value / top) * plotH;
  const xMid = (i) => PAD.left + slot * i + slot / 2;
  const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(plotW / 58))));
  const barW = Math.max(2, Math.min(48, slot * 0.7));

  const stacked = labels.map((label, i) => {
    let base = 0;
    return bars.map((s) => {
      const value = s.values[i] || 0;
      const rect = html`<rect class="bar" data-series=${s.key} x=${xMid(i) - barW / 2} y=${y(base + value)}
        width=${barW} height=${Math.max(0, y(base) - y(base + value))} fill=${s.color}>
        <title>${label} · ${s.label}: ${format(value)}</title></rect>`;
      base += value;
      return value > 0 ? rect : null;
    });
  });

  const paths = lines.map((s) => {
    const segments = [];
    let current = [];
    s.values.forEach((value, i) => {
      if (value === null || value === undefined) {
        if (current.length) segments.push(current);
        current = [];
      } else current.push(`${xMid(i).toFixed(1)},${y(value).toFixed(1)}`);
    });
    if (current.length) segments.push(current);
    return html`<g class="line" data-series=${s.key}>
      ${segments.map(
        (points) => html`<polyline points=${points.join(" ")} fill="none" stroke=${s.color} stroke-width="2.5"
          stroke-dasharray=${s.dashed ? "6 4" : undefined} />`,
      )}
      ${s.values.map((value, i) =>
        value === null || value === undefined
          ? null
          : html`<circle cx=${xMid(i)} cy=${y(value)} r="3.5" fill=${s.color}>
              <title>${labels[i]} · ${s.label}: ${format(value)}</title></circle>`,
      )}
    </g>`;
  });

  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => html`<g class="tick">
    <line x1=${PAD.left} x2=${PAD.left + plotW} y1=${y(top * f)} y2=${y(top * f)} />
    <text x=${PAD.left - 6} y=${y(top * f) + 4} text-anchor="end">${format(top * f)}</text>
  </g>`);

  return html`<figure class="chart" data-testid=${`chart-${id}`} ref=${ref}>
    <figcaption>${title}</figcaption>
    ${empty
      ? html`<p class="muted empty">${t("reports.no_data")}</p>`
      : width > 0 &&
        html`<svg width=${width} height=${HEIGHT} role="img" aria-label=${summary || title}>
          ${grid}
          ${stacked}
          ${paths}
          ${labels.map((label, i) =>
            i % every === 0
              ? html`<text class="xlabel" x=${xMid(i)} y=${HEIGHT - 10} text-anchor="middle">${label}</text>`
              : null,
          )}
        </svg>`}
    <${Legend} bars=${bars} lines=${lines} />
  </figure>`;
}
