import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { fetchDocuments, GENERATED_DIR, renderAll } from "../scripts/generate.js";
import { BASE_URL } from "./support.js";

test("src/generated/* is what `npm run generate` makes from the running server's documents", async () => {
  const rendered = await renderAll(await fetchDocuments(BASE_URL));
  assert.deepEqual(Object.keys(rendered).sort(), ["asyncapi.ts", "openapi.ts"]);
  for (const [name, content] of Object.entries(rendered)) {
    const committed = await readFile(path.join(GENERATED_DIR, name), "utf8");
    if (committed !== content) {
      const fresh = path.join(GENERATED_DIR, "..", "..", "dist", "fresh", name);
      await mkdir(path.dirname(fresh), { recursive: true });
      await writeFile(fresh, content);
      assert.fail(`src/generated/${name} is stale (the current one: ${fresh}): run \`make clients\` ` +
        "at the repository root (or `npm run generate` against a running server of this revision) and commit the result");
    }
  }
});
