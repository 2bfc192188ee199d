/**
 * Environment of every jest worker (jest.config.ts `setupFiles`). The AWS SDK
 * warns once per process under Node < 22 that its 2027 releases will need
 * Node 22; ngpipe supports Node 20, and the CLI hides the notice the same way
 * (packages/cli/src/bin.ts), so test output is not cluttered with it.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
