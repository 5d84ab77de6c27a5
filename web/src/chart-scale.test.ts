// chart-scale.test.ts - axis maxima, ticks and pixel mapping of the charts.

import { describe, expect, it } from "vitest";
import { compact, labelEvery, niceMax, scale, stackMax, ticks } from "./chart-scale";

describe("niceMax", () => {
	it.each([
		[0, 1], [-3, 1], [NaN, 1], [Infinity, 1],
		[0.3, 0.5], [1, 1], [1.2, 2], [2, 2], [2.1, 2.5], [3, 5], [7, 10],
		[10, 10], [11, 20], [23, 25], [26, 50], [99, 100], [101, 200], [1234, 2000],
	])("niceMax(%s) = %s", (v, want) => {
		expect(niceMax(v)).toBe(want);
	});
	it("is never below the value", () => {
		for (let v = 0.01; v < 1e6; v *= 1.37)
			expect(niceMax(v)).toBeGreaterThanOrEqual(v);
	});
});

describe("ticks", () => {
	it("splits evenly from 0 to max", () => {
		expect(ticks(100)).toEqual([0, 25, 50, 75, 100]);
		expect(ticks(2.5)).toEqual([0, 0.625, 1.25, 1.875, 2.5]);
	});
	it("keeps small integer axes integral", () => {
		expect(ticks(2)).toEqual([0, 1, 2]);
		expect(ticks(1)).toEqual([0, 1]);
	});
	it("handles an empty axis", () => {
		expect(ticks(0)).toEqual([0]);
	});
});

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
