using SessionStore.Sample;

await using var app = await SampleApp.BuildAsync(args);
await app.RunAsync();
