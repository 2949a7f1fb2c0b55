#region create-table
using Npgsql;
using SessionStore.Postgres;
#endregion

namespace DocsSnippets.Snippets;

internal static class CreateTable
{
    public static async Task RunAsync(WebApplicationBuilder builder)
    {
        #region create-table
        await using var dataSource = NpgsqlDataSource.Create(builder.Configuration.GetConnectionString("Sessions")!);
        await new PostgresSchemaMigrator(dataSource, "public", "sessions").MigrateAsync();
        #endregion
    }
}
