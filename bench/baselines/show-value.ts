// How the baselines' logPrint shows a value: a string as it is, anything else as JSON where it
// can be (as chariot-exec's logPrint does), else as String() gives it.
export function show(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
  } catch {
    return String(value);
  }
}
