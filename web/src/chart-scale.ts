// chart-scale.ts - pure arithmetic for the console's SVG charts (no DOM, so
// it is unit-tested with vitest): a "nice" axis maximum, its ticks, and the
// mapping of values to pixels.

// niceMax: the smallest of 1, 2, 2.5, 5 x 10^k that is >= v (1 for v <= 0),
// so axes end on round numbers.
export function niceMax(v: number): number {
	if (!(v > 0) || !Number.isFinite(v))
		return 1;
	const exp = Math.floor(Math.log10(v));
	const base = Math.pow(10, exp);
	for (const m of [1, 2, 2.5, 5, 10]) {
		const c = m * base;
		if (c >= v - base * 1e-9)
			return Number(c.toPrecision(12));
	}
	return 10 * base;
}

// ticks: count + 1 evenly spaced values from 0 to max inclusive.  For small
// integer maxima every tick is an integer (mail counts are whole numbers).
export function ticks(max: number, count = 4): number[] {
	if (max <= 0)
		return [0];
	let n = count;
	if (Number.isInteger(max) && max < count)
		n = max;
	const out: number[] = [];
	for (let i = 0; i <= n; i++)
		out.push(Number(((max * i) / n).toPrecision(12)));
	return out;
}

// scale: value v on an axis 0..max drawn over `size` pixels (clamped).
export function scale(v: number, max: number, size: number): number {
	if (!(max > 0) || !Number.isFinite(v) || v <= 0)
		return 0;
	return Math.min(size, (v / max) * size);
}

// stackMax: the tallest stack of the given keys over all rows.
export function stackMax<T extends Record<string, unknown>>(rows: T[], keys: (keyof T)[]): number {
	let m = 0;
	for (const r of rows) {
		let sum = 0;
		for (const k of keys) {
			const v = Number(r[k]);
			if (Number.isFinite(v) && v > 0)
				sum += v;
		}
		m = Math.max(m, sum);
	}
	return m;
}

// labelEvery: show one x label in every n so that labels do not overlap.
export function labelEvery(points: number, width: number, labelWidth: number): number {
	if (points <= 0)
		return 1;
	const fit = Math.max(1, Math.floor(width / labelWidth));
	return Math.max(1, Math.ceil(points / fit));
}

// compact: 1234 -> "1.2k", 2500000 -> "2.5M" for axis labels.
export function compact(v: number): string {
	const a = Math.abs(v);
	if (a >= 1e6)
		return `${Number((v / 1e6).toFixed(1))}M`;
	if (a >= 1e4)
		return `${Math.round(v / 1e3)}k`;
	if (a >= 1e3)
		return `${Number((v / 1e3).toFixed(1))}k`;
	return String(Number(v.toFixed(2)));
}
