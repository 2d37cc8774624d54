// Builds the browser snippet: sdk/src/index.ts → dist/hearth.js, one minified IIFE with no dependencies.
import terser from '@rollup/plugin-terser';
import esbuild from 'rollup-plugin-esbuild';

export default {
  input: 'sdk/src/index.ts',
  // compact: no line break at the end of the file, a character found nowhere else in it (4 bytes of gzip).
  output: { file: 'dist/hearth.js', format: 'iife', strict: false, compact: true },
  plugins: [
    // ES2021 syntax (`||=`) runs in every browser that has crypto.randomUUID, which the snippet needs.
    esbuild({ target: 'es2021' }),
    // No unsafe_arrows: it turns function expressions into arrows, but `!function(){…}()` IIFEs gzip smaller than
    // `(()=>{…})()` ones, repeating the snippet's other `function` keywords.
    terser({ ecma: 2020, module: false, toplevel: true, compress: { passes: 3, unsafe: true, pure_getters: true }, format: { comments: false } }),
  ],
};
