// format.ts - dates and numbers in the console's current language.

import { lang } from "./i18n";

function locale(): string {
	return lang() === "ja" ? "ja-JP" : "en-GB";
}

export function dateTime(iso: string): string {
	const d = new Date(iso);
	if (Number.isNaN(d.getTime()))
		return iso;
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
