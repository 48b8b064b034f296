/** Whether process `pid` still runs: signal 0 checks without signalling (a zombie counts as alive). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
