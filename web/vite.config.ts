// vite.config.ts - build of the sekisho console into dist/ (served by
// sekishod at "/").  Relative asset paths so the console works under any
// prefix; no external fonts or CDN: everything is bundled.  `npm run dev`
// proxies the API to a local sekishod (SEKISHO_API, default 127.0.0.1:8025).
import { defineConfig } from "vitest/config";

export default defineConfig({
	base: "./",
	build: {
		outDir: "dist",
		emptyOutDir: true,
		sourcemap: false,
		assetsInlineLimit: 0,
	},
	server: {
		proxy: {
			"/api": process.env.SEKISHO_API ?? "http://127.0.0.1:8025",
		},
	},
	test: {
		include: ["src/**/*.test.ts"],
		environment: "node",
	},
});
