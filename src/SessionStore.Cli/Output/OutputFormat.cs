namespace SessionStore.Cli.Output;

/// <summary>What <c>--output</c> selects: text for people, one JSON document for scripts.</summary>
internal enum OutputFormat
{
    /// <summary>Tables and sentences (the default).</summary>
    Text,

    /// <summary>One JSON document on standard output, camelCase property names.</summary>
    Json,
}
