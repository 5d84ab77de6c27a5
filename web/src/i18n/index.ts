// i18n/index.ts - the current language and t().
//
// The language is chosen once at start: the one saved in localStorage, else
// Japanese when the browser prefers it (navigator.languages), else English.
// After sign-in the user's saved language (GET /me) wins; the header switch
// saves a change both in localStorage and on the server (PUT /me).

import { en, type Key, type Messages } from "./en";
import { ja } from "./ja";

export type Lang = "ja" | "en";
export const LANGS: Lang[] = ["ja", "en"];
export const catalogs: Record<Lang, Messages> = { ja, en };

const STORE_KEY = "sekisho.lang";
let current: Lang = "en";

export function isLang(v: unknown): v is Lang {
	return v === "ja" || v === "en";
}

// preferredLang: the saved choice, else the browser's first ja/en preference.
export function preferredLang(saved: string | null, browser: readonly string[]): Lang {
	if (isLang(saved))
		return saved;
	for (const l of browser) {
		const base = l.toLowerCase().split("-")[0];
		if (isLang(base))
			return base;
	}
	return "en";
}

export function initLang(): Lang {
	let saved: string | null = null;
	try {
		saved = localStorage.getItem(STORE_KEY);
	} catch {
		/* storage may be disabled: fall back to the browser */
	}
	setLang(preferredLang(saved, navigator.languages ?? [navigator.language]), false);
	return current;
}

export function setLang(l: Lang, remember = true): void {
	current = l;
	document.documentElement.lang = l;
	if (remember) {
		try {
			localStorage.setItem(STORE_KEY, l);
		} catch {
			/* not fatal: the server keeps the user's choice */
		}
	}
}

export function lang(): Lang {
	return current;
}

// format: replace {name} by params[name]; unknown names stay as they are.
export function format(text: string, params?: Record<string, string | number>): string {
	if (!params)
		return text;
	return text.replace(/\{(\w+)\}/g, (m, k: string) =>
		k in params ? String(params[k]) : m);
}

export function t(key: Key, params?: Record<string, string | number>): string {
	return format(catalogs[current][key] ?? en[key] ?? key, params);
}

export type { Key };
