// format.ts - dates and numbers in the console's current language.

import { lang, t } from "./i18n";

function locale(): string {
	return lang() === "ja" ? "ja-JP" : "en-GB";
}

export function dateTime(iso: string | null | undefined): string {
	if (!iso)
		return "";
	const d = new Date(iso);
	if (Number.isNaN(d.getTime()))
		return iso;
	if (d.getTime() <= 0)
		return "";	/* the epoch: a time the server did not record */
	return new Intl.DateTimeFormat(locale(), { year: "numeric", month: "2-digit", day: "2-digit",
	    hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(d);
}

export function hour(iso: string): string {
	const d = new Date(iso);
	if (Number.isNaN(d.getTime()))
		return iso;
	return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit" }).format(d);
}

// dayHour: "11/29 16:00" for axes longer than a day.
export function dayHour(iso: string): string {
	const d = new Date(iso);
	if (Number.isNaN(d.getTime()))
		return iso;
	return new Intl.DateTimeFormat(locale(), { month: "numeric", day: "numeric", hour: "2-digit",
	    minute: "2-digit" }).format(d);
}

export function num(n: number | undefined | null): string {
	return new Intl.NumberFormat(locale()).format(n ?? 0);
}

export function score(n: number | undefined | null): string {
	return typeof n === "number" ? n.toFixed(1) : "";
}

// fromLocalInput: a datetime-local value to ISO 8601 (UTC), "" stays "".
export function fromLocalInput(v: string): string {
	if (!v)
		return "";
	const d = new Date(v);
	return Number.isNaN(d.getTime()) ? "" : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

// duration: a time left as "4 min 05 s" / "4分05秒" (two units at most:
// days and hours, hours and minutes, minutes and seconds, or seconds).
export function duration(ms: number): string {
	const total = Math.max(0, Math.ceil(ms / 1000));
	const d = Math.floor(total / 86400), h = Math.floor(total / 3600) % 24;
	const m = Math.floor(total / 60) % 60, s = total % 60;
	const p = (n: number) => String(n).padStart(2, "0");
	if (d > 0)
		return t("time.dh", { d, h });
	if (h > 0)
		return t("time.hm", { h, m: p(m) });
	if (m > 0)
		return t("time.ms", { m, s: p(s) });
	return t("time.s", { s });
}

// countdownText: "in 4 min 05 s" until `iso`, "due now" once it has passed.
export function countdownText(iso: string, now = Date.now()): string {
	const at = new Date(iso).getTime();
	if (Number.isNaN(at))
		return "";
	return at - now <= 0 ? t("time.due") : t("time.in", { d: duration(at - now) });
}
