using System;
using System.Threading.Tasks;
using Maratang;
using Maratang.Protocol;
using Maratang.Unity;
using UnityEngine;

/// <summary>
/// Maratang in one script: sign in as a guest, open a table or join one by its code, start the
/// game, read the narration at reading pace as it is told, and submit a bowl each round. Put it beside
/// a <see cref="MaratangBehaviour"/> (which owns the client) on any GameObject. Its text comes
/// from <see cref="Strings"/>, the same locale files the browser page uses (Korean first).
/// </summary>
[RequireComponent(typeof(MaratangBehaviour))]
public class QuickStart : MonoBehaviour
{
    private static readonly string[] Ingredients = { "bok_choy", "enoki", "beef" };
    private const long Spice = 2;

    [SerializeField] private string _lang = "ko";

    private Strings _text;
    private MaratangBehaviour _maratang;
    private MaratangClient _client;
    private string _name = "민지";
    private string _code = "";
    private string _status = "";

    private void Start()
    {
        _text = Strings.For(_lang);
        _status = _text["nameLabel"];
        _maratang = GetComponent<MaratangBehaviour>();
        _client = _maratang.Client;
        _client.RoundStarted += round => _status = _text["round"] + " " + round.Round;
        _client.RoundResolved += resolved => _status = _text.Format("resultsTitle", "n", resolved.Round) + ": "
            + string.Join(", ", resolved.Results.ConvertAll(r => _text.Format("points", "n", r.Score)));
        _client.GameOver += over => _status = _text["finalTitle"];
        _client.Disconnected += lost => _status = lost.WillReconnect ? _text["status.reconnecting"] : _text["status.idle"] + ": " + lost.Reason;
    }

    private async Task SitDownAsync(bool create)
    {
        try
        {
            if (_client.Token == null) await _maratang.SignInAsync(_name);
            await _client.ConnectAsync();
            Ack ack = create ? await _client.CreateTableAsync(new Settings { Rounds = 3 }) : await _client.JoinAsync(_code);
            _code = ack.Code;
            _status = _text["tableCode"] + " " + _code;
        }
        catch (MaratangException refused)
        {
            _status = _text.Error(refused.Code);
        }
    }

    private async Task RunAsync(Func<Task<Ack>> command)
    {
        try
        {
            await command();
        }
        catch (MaratangException refused)
        {
            _status = _text.Error(refused.Code);
        }
    }

    private void OnGUI()
    {
        GUILayout.BeginArea(new Rect(16, 16, Screen.width - 32, Screen.height - 32));
        GUILayout.Label(_status);
        TableView table = _client?.State;
        if (table == null)
        {
            _name = GUILayout.TextField(_name);
            if (GUILayout.Button(_text["create"])) _ = SitDownAsync(create: true);
            _code = GUILayout.TextField(_code);
            if (GUILayout.Button(_text["join"])) _ = SitDownAsync(create: false);
        }
        else
        {
            GUILayout.Label(_text["tableCode"] + ": " + table.Code + "  ·  " + table.Phase);
            if (table.Phase == "lobby" && table.Host == _client.Player?.Id && GUILayout.Button(_text["start"]))
                _ = RunAsync(_client.StartAsync);
            if (table.Phase == "picking" && table.Bowl == null && GUILayout.Button(_text["submit"]))
                _ = RunAsync(() => _client.SubmitBowlAsync(table.Round, Ingredients, Spice));
        }
        NarrationPacer narration = _maratang.Narration; // paced in MaratangBehaviour.Update
        GUILayout.Label(narration.Shown + (narration.Stalled ? " " + _text["narrationStalled"] : ""));
        GUILayout.EndArea();
    }
}
