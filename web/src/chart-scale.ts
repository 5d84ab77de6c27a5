// chart-scale.ts - pure arithmetic for the console's SVG charts (no DOM, so
// it is unit-tested with vitest): the y axis (round steps), the mapping of
// values to pixels, label thinning, and hourly rows over a whole period.

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

export interface Axis {
	max: number;
	ticks: number[];
}

// axis: the y axis for data up to `v`: a step of 1, 2, 2.5 or 5 x 10^k
// giving about `count` intervals, never a fractional step for counts
// (integer=true), and a maximum that is a whole number of steps >= v.
export function axis(v: number, count = 4, integer = true): Axis {
	if (!(v > 0) || !Number.isFinite(v))
		return { max: 1, ticks: [0, 1] };
	const raw = v / count;
	const exp = Math.floor(Math.log10(raw));
	let step = 0;
	for (let e = exp; step === 0; e++) {
		for (const m of [1, 2, 2.5, 5]) {
			const c = Number((m * Math.pow(10, e)).toPrecision(12));
			if (c >= raw && (!integer || Number.isInteger(c))) {
				step = c;
				break;
			}
		}
	}
	const n = Math.max(1, Math.ceil(v / step - 1e-9));
	const out: number[] = [];
	for (let i = 0; i <= n; i++)
		out.push(Number((i * step).toPrecision(12)));
	return { max: out[n], ticks: out };
}

// fillHours: one row per hour of the last `hours` hours ending with the
// hour of `now`, taking the server's rows by their hour (t, ISO 8601) and
// zeros where it sent none, so every chart spans the whole period.
export function fillHours<T extends { t: string }>(rows: T[], hours: number, now: number,
    zero: (t: string) => T): T[] {
	const H = 3600 * 1000;
	const last = Math.floor(now / H) * H;
	const byHour = new Map<number, T>();
	for (const r of rows) {
		const ms = Date.parse(r.t);
		if (Number.isFinite(ms))
			byHour.set(Math.floor(ms / H) * H, r);
	}
	const out: T[] = [];
	for (let i = hours - 1; i >= 0; i--) {
		const h = last - i * H;
		const t = new Date(h).toISOString().replace(/\.\d{3}Z$/, "Z");
		out.push(byHour.get(h) ?? zero(t));
	}
	return out;
}
