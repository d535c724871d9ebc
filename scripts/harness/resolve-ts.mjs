// Lets `npm run bench` and `npm run faults` run the project's TypeScript modules directly with Node's type stripping:
// they import each other without extensions (as the compiler and esbuild resolve them), which Node
// does not, so a relative import that is not found is tried again with `.ts`.
import { register } from "node:module";

register(
  `data:text/javascript,${encodeURIComponent(`
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (err?.code !== "ERR_MODULE_NOT_FOUND" || !specifier.startsWith(".")) throw err;
    return next(specifier + ".ts", context);
  }
}`)}`,
);
