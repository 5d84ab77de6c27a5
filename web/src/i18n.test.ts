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

// Labels looked up from values the server sends (kind, status, event...):
// a missing one would silently show the raw value, so each is listed here.
describe("labels of server values", () => {
	const values: Record<string, string[]> = {
		"hold.kind": ["hold", "approval", "confirm", "admin"],
		"hold.status": ["held", "released", "approved", "cancelled", "rejected", "expired"],
		"hold.state": ["held", "all", "released", "approved", "cancelled", "rejected", "expired"],
		"hold.event": ["held", "notified", "reminded", "released", "approved", "cancelled", "rejected", "expired"],
		"inc.step": ["account", "password", "contacts", "device"],
		"inc.step.desc": ["account", "password", "contacts", "device"],
		"inc.status": ["open", "closed"],
		"acc.result": ["ok", "fail", "refused"],
		"acc.for": ["1h", "24h", "7d"],
		"alert": ["brute_force", "password_spray", "new_country", "impossible_travel"],
		"reason": ["OUT_EXTERNAL_ATTACHMENT", "OUT_EXTERNAL_RCPT", "OUT_FIRST_DOMAIN", "OUT_FIRST_RECIPIENT",
		    "OUT_LOOKALIKE_RECIPIENT", "OUT_MANY_EXTERNAL", "OUT_WIDE_EXTERNAL", "DLP_CREDIT_CARD",
		    "DLP_MYNUMBER", "DLP_BANK_ACCOUNT", "DLP_KEYWORD", "DLP_PATTERN"],
	};
	it("exist in both languages", () => {
		for (const [prefix, vs] of Object.entries(values))
			for (const v of vs) {
				const k = `${prefix}.${v}`;
				expect(Object.keys(en), k).toContain(k);
				expect(Object.keys(ja), k).toContain(k);
			}
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
