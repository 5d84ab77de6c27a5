// format.test.ts - the time left of a held mail, in both languages.

import { describe, expect, it } from "vitest";
import { countdownText, duration } from "./format";
import { format } from "./i18n";
import { ja } from "./i18n/ja";

describe("duration", () => {
	it("shows two units at most (English, the default)", () => {
		expect(duration(5_000)).toBe("5 s");
		expect(duration(4 * 60_000 + 5_000)).toBe("4 min 05 s");
		expect(duration(3 * 3_600_000 + 4 * 60_000 + 59_000)).toBe("3 h 04 min");
		expect(duration(2 * 86_400_000 + 3 * 3_600_000)).toBe("2 d 3 h");
	});
	it("has the Japanese forms", () => {
		expect(format(ja["time.ms"], { m: 4, s: "05" })).toBe("4分05秒");
		expect(format(ja["time.in"], { d: "5秒" })).toBe("あと 5秒");
	});
	it("rounds a part second up and never goes below zero", () => {
		expect(duration(100)).toMatch(/^1/);
		expect(duration(-5000)).toMatch(/^0/);
	});
	it("counts down to a time, then says it is due", () => {
		const now = Date.parse("2026-11-29T10:00:00Z");
		expect(countdownText("2026-11-29T10:01:30Z", now)).toMatch(/1.*30/);
		expect(countdownText("2026-11-29T09:59:00Z", now)).not.toMatch(/\d/);
		expect(countdownText("not a time", now)).toBe("");
	});
});
