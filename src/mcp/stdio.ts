import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createPyboxMcpServer, type PyboxMcpOptions } from './mcp-server.js';

/**
 * Serves MCP on this process's stdin/stdout (how Claude Desktop and most agents start a
 * local server). Resolves once the client closes stdin or `stop` is called.
 */
export async function serveMcpStdio(options: PyboxMcpOptions, stop: Promise<void>): Promise<void> {
  const { server } = createPyboxMcpServer(options);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  await Promise.race([closed, stop]);
  await server.close().catch(() => {});
}
