/** Stylesheets imported for their side effect: esbuild bundles them into the dashboards' one CSS file. */
declare module '*.css';
