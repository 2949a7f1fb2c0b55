namespace SessionStore;

/// <summary>Ends every session of one user at once ("log out everywhere").</summary>
/// <remarks>
/// Sessions are found through the user recorded from <see cref="SessionCacheProviderOptions.UserIdSessionKey"/> when
/// they were written; sessions written while that option was unset cannot be found.
/// </remarks>
public interface IUserSessionRevoker
{
    /// <summary>Deletes every stored session of <paramref name="userId"/>.</summary>
    /// <param name="userId">The user, as stored in the session under <see cref="SessionCacheProviderOptions.UserIdSessionKey"/>; not blank (a blank value names no user), without U+0000 and well-formed UTF-16 (an unpaired surrogate would reach a store as U+FFFD, naming another user).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>How many live sessions were deleted; a stored session already past its expiry is deleted too, but not counted.</returns>
    /// <exception cref="ArgumentException">The user id is blank, holds U+0000 or is not well-formed UTF-16; thrown before any store is touched.</exception>
    Task<long> RevokeUserSessionsAsync(string userId, CancellationToken cancellationToken = default);
}
