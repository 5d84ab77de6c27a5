// i18n.test.ts - every text exists in both languages, is not empty, uses the
// same {placeholders} in both, and the language choice follows the rules.

import { describe, expect, it } from "vitest";
import { en } from "./i18n/en";
import { ja } from "./i18n/ja";
import { format, preferredLang } from "./i18n";

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("catalogs", () => {
	it("have the same keys", () => {
		expect(Object.keys(ja).sort()).toEqual(Object.keys(en).sort());
	});
	it("have no empty text", () => {
		for (const [k, v] of [...Object.entries(en), ...Object.entries(ja)])
			expect(v.trim(), k).not.toBe("");
	});
	it("use the same placeholders", () => {
		for (const k of Object.keys(en) as (keyof typeof en)[])
			expect(placeholders(ja[k]), k).toEqual(placeholders(en[k]));
	});
	it("are translated (Japanese differs from English except names)", () => {
		const same = (Object.keys(en) as (keyof typeof en)[]).filter((k) => ja[k] === en[k]);
		expect(same.sort()).toEqual(["app.name", "lang.en", "lang.ja"]);
	});
});

describe("language choice", () => {
	it("prefers the saved choice", () => {
		expect(preferredLang("en", ["ja-JP"])).toBe("en");
		expect(preferredLang("ja", ["en-US"])).toBe("ja");
	});
	it("defaults to Japanese when the browser prefers it", () => {
		expect(preferredLang(null, ["ja-JP", "en-US"])).toBe("ja");
		expect(preferredLang(null, ["ja"])).toBe("ja");
		expect(preferredLang("xx", ["fr-FR", "ja"])).toBe("ja");
	});
	it("falls back to English", () => {
		expect(preferredLang(null, ["fr-FR"])).toBe("en");
		expect(preferredLang(null, [])).toBe("en");
		expect(preferredLang(null, ["en-GB", "ja"])).toBe("en");
	});
});

describe("format", () => {
	it("fills placeholders and leaves unknown ones", () => {
		expect(format("{a} of {b}", { a: 1, b: "x" })).toBe("1 of x");
		expect(format("{a} {z}", { a: 2 })).toBe("2 {z}");
		expect(format("plain")).toBe("plain");
	});
});
