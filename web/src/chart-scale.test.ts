// chart-scale.test.ts - axis maxima, ticks and pixel mapping of the charts.

import { describe, expect, it } from "vitest";
import { axis, compact, fillHours, labelEvery, scale, stackMax } from "./chart-scale";

describe("scale", () => {
	it("maps linearly and clamps", () => {
		expect(scale(50, 100, 200)).toBe(100);
		expect(scale(100, 100, 200)).toBe(200);
		expect(scale(150, 100, 200)).toBe(200);
		expect(scale(-1, 100, 200)).toBe(0);
		expect(scale(5, 0, 200)).toBe(0);
		expect(scale(NaN, 10, 200)).toBe(0);
	});
});

describe("stackMax", () => {
	it("finds the tallest stack of the chosen keys", () => {
		const rows = [{ a: 1, b: 2, c: 100 }, { a: 5, b: 4, c: 0 }, { a: -3, b: 1, c: 0 }];
		expect(stackMax(rows, ["a", "b"])).toBe(9);
		expect(stackMax([], ["a"])).toBe(0);
	});
});

describe("labelEvery", () => {
	it("thins labels that would overlap", () => {
		expect(labelEvery(24, 584, 48)).toBe(2);
		expect(labelEvery(25, 584, 48)).toBe(3);
		expect(labelEvery(6, 584, 48)).toBe(1);
		expect(labelEvery(168, 584, 48)).toBe(14);
		expect(labelEvery(0, 584, 48)).toBe(1);
	});
});

describe("compact", () => {
	it("shortens large numbers", () => {
		expect(compact(0)).toBe("0");
		expect(compact(999)).toBe("999");
		expect(compact(1200)).toBe("1.2k");
		expect(compact(25000)).toBe("25k");
		expect(compact(2500000)).toBe("2.5M");
		expect(compact(0.625)).toBe("0.63");
	});
});

describe("axis", () => {
	it.each([
		[0, 1, [0, 1]],
		[1, 1, [0, 1]],
		[3, 3, [0, 1, 2, 3]],
		[4, 4, [0, 1, 2, 3, 4]],
		[5, 6, [0, 2, 4, 6]],
		[9, 10, [0, 5, 10]],
		[10, 10, [0, 5, 10]],
		[23, 30, [0, 10, 20, 30]],
		[101, 150, [0, 50, 100, 150]],
	] as [number, number, number[]][])(
	    "axis(%s) ends at %s", (v, max, want) => {
		const a = axis(v);
		expect(a.max).toBe(max);
		expect(a.ticks).toEqual(want);
	});
	it("uses whole steps for counts and covers the value", () => {
		for (let v = 1; v < 5000; v = Math.ceil(v * 1.3)) {
			const a = axis(v);
			expect(a.max).toBeGreaterThanOrEqual(v);
			expect(a.ticks.every(Number.isInteger)).toBe(true);
			expect(a.ticks.length).toBeLessThanOrEqual(6);
			expect(a.ticks.length).toBeGreaterThanOrEqual(2);
		}
	});
	it("allows fractional steps for fractional data", () => {
		expect(axis(0.8, 4, false)).toEqual({ max: 0.8, ticks: [0, 0.2, 0.4, 0.6, 0.8] });
	});
});

describe("fillHours", () => {
	const now = Date.parse("2026-11-29T16:42:10Z");
	const zero = (t: string) => ({ t, n: 0 });
	it("spans the period with zeros where the server sent nothing", () => {
		const rows = fillHours([{ t: "2026-11-29T15:00:00Z", n: 4 }, { t: "2026-11-29T16:00:00Z", n: 2 }], 4, now, zero);
		expect(rows).toEqual([
			{ t: "2026-11-29T13:00:00Z", n: 0 },
			{ t: "2026-11-29T14:00:00Z", n: 0 },
			{ t: "2026-11-29T15:00:00Z", n: 4 },
			{ t: "2026-11-29T16:00:00Z", n: 2 },
		]);
	});
	it("drops rows outside the period and bad times", () => {
		const rows = fillHours([{ t: "2026-11-28T01:00:00Z", n: 9 }, { t: "garbage", n: 9 }], 2, now, zero);
		expect(rows.map((r) => r.n)).toEqual([0, 0]);
	});
});
