/**
 * The first `maxBytes` of a response's body as text, the rest not read: what a downstream said is
 * kept in an error line, and an endpoint answering with megabytes costs no more than that. An
 * unreadable body reads as "".
 */
export async function responseStart(response: Response, maxBytes = 4096): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    while (length < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.byteLength;
    }
  } catch {
    // Cut off mid-answer (a timeout, a reset): what arrived is still worth showing.
  } finally {
    reader.cancel().catch(() => {});
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, maxBytes));
}
