// Runs `fn` over 0..count-1 with at most `limit` calls pending at once: opening a thousand
// streams all in the same tick would measure the accept queue, not the service.
export async function forEachLimited<T>(count: number, limit: number, fn: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      results[index] = await fn(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
  return results;
}
