import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ignore from 'ignore';

/**
 * The repository's own files under `root`, as repository-relative paths with `/`, sorted.
 *
 * In a git checkout (`root/.git` exists) these are the tracked files (`git ls-files`). In a copy
 * without `.git` — a source archive made with `git archive`, as a downloaded release is — git
 * cannot answer, so the tree is walked, leaving out the directories the root `.gitignore` ignores
 * (node_modules, .cache, dist, .aura-state: what installing and running adds). Files `.gitignore`
 * ignores by name (`bench/results/*.json`, `*.log`) are kept: the archive carries the ones that
 * were committed with `git add -f` (benchmark results), and nothing tells those from one a user
 * made. Files listed by git but missing from the disk (deleted, not yet committed) are left out.
 */
export function repositoryFiles(root: string): string[] {
  if (existsSync(join(root, '.git'))) {
    return execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
      .split('\0')
      .filter((f) => f !== '' && existsSync(join(root, f)))
      .sort();
  }
  const gitignore = join(root, '.gitignore');
  const ignored = ignore().add(existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : '');
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(root, path).split(sep).join('/');
      // A link to a directory (node_modules linked into a copy) counts as the directory.
      if (entry.isDirectory() || (entry.isSymbolicLink() && statSync(path).isDirectory())) {
        if (!ignored.ignores(`${rel}/`)) walk(path);
      } else {
        files.push(rel);
      }
    }
  };
  walk(root);
  return files.sort();
}
