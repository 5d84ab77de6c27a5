// chart.ts - the dashboard's SVG charts, drawn by hand: a stacked bar chart
// over time, a line chart over time and a horizontal bar list.  Each chart
// is an <svg role="img"> with a <title>; the numbers are also in a table
// (visually hidden) for screen readers.  Colours come from CSS variables.

import { h, s } from "./dom";
import { type Axis, axis, compact, labelEvery, scale, stackMax } from "./chart-scale";

export interface Series {
	key: string;
	label: string;
	color: string;	/* a CSS colour, e.g. var(--c-deliver) */
}

const W = 640;
const H = 220;
const PAD = { l: 44, r: 12, t: 10, b: 28 };

function axes(ax: Axis, plotW: number, plotH: number): SVGElement[] {
	const out: SVGElement[] = [];
	for (const v of ax.ticks) {
		const y = PAD.t + plotH - scale(v, ax.max, plotH);
		out.push(s("line", { x1: PAD.l, x2: PAD.l + plotW, y1: y, y2: y, class: "grid" }));
		out.push(s("text", { x: PAD.l - 6, y: y + 4, "text-anchor": "end", class: "tick" }, compact(v)));
	}
	return out;
}

function xLabels(labels: string[], plotW: number, plotH: number): SVGElement[] {
	const out: SVGElement[] = [];
	const step = plotW / Math.max(1, labels.length);
	const longest = Math.max(0, ...labels.map((l) => l.length));
	const every = labelEvery(labels.length, plotW, Math.max(44, longest * 7 + 10));
	labels.forEach((l, i) => {
		if (i % every !== 0)
			return;
		out.push(s("text", { x: PAD.l + step * i + step / 2, y: PAD.t + plotH + 18,
		    "text-anchor": "middle", class: "tick" }, l));
	});
	return out;
}

function legend(series: Series[]): HTMLElement {
	return h("ul", { class: "legend" }, series.map((se) =>
	    h("li", null, h("span", { class: "swatch", style: `background-color:${se.color}` }), se.label)));
}

function dataTable(caption: string, labels: string[], series: Series[],
    rows: Record<string, unknown>[]): HTMLElement {
	// A table box ignores height and overflow: the wrapper hides it.
	return h("div", { class: "sr-only" }, h("table", null,
	    h("caption", null, caption),
	    h("thead", null, h("tr", null, h("th", null, ""), series.map((se) => h("th", null, se.label)))),
	    h("tbody", null, rows.map((r, i) => h("tr", null, h("th", null, labels[i]),
		series.map((se) => h("td", null, String(r[se.key] ?? 0))))))));
}

// stackedBars: one bar per row (e.g. per hour), stacked by series.
export function stackedBars(title: string, labels: string[], series: Series[],
    rows: Record<string, unknown>[]): HTMLElement {
	const plotW = W - PAD.l - PAD.r, plotH = H - PAD.t - PAD.b;
	const ax = axis(stackMax(rows, series.map((x) => x.key)));
	const max = ax.max;
	const step = plotW / Math.max(1, rows.length);
	const bw = Math.max(1, step * 0.7);
	const bars: SVGElement[] = [];
	rows.forEach((r, i) => {
		let y = PAD.t + plotH;
		for (const se of series) {
			const v = Number(r[se.key] ?? 0);
			const bh = scale(v, max, plotH);
			if (bh <= 0)
				continue;
			y -= bh;
			bars.push(s("rect", { x: PAD.l + step * i + (step - bw) / 2, y, width: bw, height: bh,
			    style: `fill:${se.color}`, class: "bar" },
			    s("title", null, `${labels[i]} ${se.label}: ${v}`)));
		}
	});
	return h("figure", { class: "chart" },
	    s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title,
		preserveAspectRatio: "xMidYMid meet" },
		s("title", null, title), axes(ax, plotW, plotH), bars, xLabels(labels, plotW, plotH)),
	    legend(series), dataTable(title, labels, series, rows));
}

// lines: one polyline per series over the rows.
export function lines(title: string, labels: string[], series: Series[],
    rows: Record<string, unknown>[]): HTMLElement {
	const plotW = W - PAD.l - PAD.r, plotH = H - PAD.t - PAD.b;
	let m = 0;
	for (const r of rows)
		for (const se of series)
			m = Math.max(m, Number(r[se.key] ?? 0) || 0);
	const ax = axis(m);
	const max = ax.max;
	const step = plotW / Math.max(1, rows.length);
	// A dot on every non-zero value: a lone point has no line to show it.
	const paths = series.map((se) => {
		const dots: SVGElement[] = [];
		const pts = rows.map((r, i) => {
			const v = Number(r[se.key] ?? 0);
			const x = PAD.l + step * i + step / 2;
			const y = PAD.t + plotH - scale(v, max, plotH);
			if (v > 0)
				dots.push(s("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 3, style: `fill:${se.color}`, class: "dot" },
				    s("title", null, `${labels[i]} ${se.label}: ${v}`)));
			return `${x.toFixed(1)},${y.toFixed(1)}`;
		});
		return s("g", null, s("polyline", { points: pts.join(" "), style: `fill:none;stroke:${se.color}`,
		    "stroke-width": 2, "stroke-linejoin": "round", class: "line" }), dots);
	});
	return h("figure", { class: "chart" },
	    s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title,
		preserveAspectRatio: "xMidYMid meet" },
		s("title", null, title), axes(ax, plotW, plotH), paths, xLabels(labels, plotW, plotH)),
	    legend(series), dataTable(title, labels, series, rows));
}

// hbars: a ranked list with proportional bars (top symbols, targets).
export function hbars(title: string, items: { label: string; count: number }[]): HTMLElement {
	const max = Math.max(1, ...items.map((i) => i.count));
	return h("ol", { class: "hbars", "aria-label": title }, items.map((i) =>
	    h("li", null,
		h("span", { class: "hbar-label", title: i.label }, i.label),
		h("span", { class: "hbar-track", "aria-hidden": "true" },
		    h("span", { class: "hbar-fill", style: `width:${(scale(i.count, max, 100)).toFixed(1)}%` })),
		h("span", { class: "hbar-count" }, String(i.count)))));
}
