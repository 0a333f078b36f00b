using System.Text;
using System.Xml.Linq;

namespace Mhc.Tool.Conversion;

/// <summary>
/// An XML file (a project file, a nuget.config) as read from disk, with what an edit must keep: its byte
/// order mark, its line ends and its declaration. Edits are made on <see cref="Parse"/>'s document with LF
/// line ends; <see cref="ChangeTo"/> puts the file's own style back.
/// </summary>
internal sealed record XmlFileText(string Path, string Text, bool ByteOrderMark)
{
    public const string Newline = "\n";

    public static XmlFileText Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        bool bom = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF;
        return new XmlFileText(path, new UTF8Encoding(false).GetString(bytes, bom ? 3 : 0, bytes.Length - (bom ? 3 : 0)), bom);
    }

    // XML parsing turns every CRLF into LF, so the file's own line ends are put back at the end.
    private bool Crlf => Text.Contains("\r\n");

    public XDocument Parse() => XDocument.Parse(Text, LoadOptions.PreserveWhitespace);

    /// <summary>The change that writes <paramref name="document"/> in this file's style, or null when its text is unchanged.</summary>
    public FileChange? ChangeTo(XDocument document)
    {
        var body = document.ToString(SaveOptions.DisableFormatting);
        var newText = document.Declaration is null ? body : document.Declaration + (body.StartsWith('\n') || body.StartsWith('\r') ? "" : Newline) + body;
        if (Text.EndsWith('\n') && !newText.EndsWith('\n')) newText += Newline;
        newText = newText.Replace("\r\n", "\n");
        if (Crlf) newText = newText.Replace("\n", "\r\n");
        return newText == Text ? null : new FileChange(Path, Text, newText, new UTF8Encoding(ByteOrderMark));
    }
}
