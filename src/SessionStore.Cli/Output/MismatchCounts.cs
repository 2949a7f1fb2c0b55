namespace SessionStore.Cli.Output;

/// <summary>Confirmed mismatches of <see cref="VerifyReport"/>, one named count per kind so a script never meets a missing key.</summary>
internal sealed record MismatchCounts(long MissingInSecondary, long ValueDiffers, long ExpiryDiffers);
