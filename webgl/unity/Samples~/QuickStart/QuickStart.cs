using System;
using System.Threading.Tasks;
using Maratang;
using Maratang.Protocol;
using Maratang.Unity;
using UnityEngine;

/// <summary>
/// Maratang in one script: sign in as a guest, open a table or join one by its code, start the
/// game, watch the narration arrive piece by piece, and submit a bowl each round. Put it beside
/// a <see cref="MaratangBehaviour"/> (which owns the client) on any GameObject.
/// </summary>
[RequireComponent(typeof(MaratangBehaviour))]
public class QuickStart : MonoBehaviour
{
    private static readonly string[] Ingredients = { "bok_choy", "enoki", "beef" };
    private const long Spice = 2;

    private MaratangBehaviour _maratang;
    private MaratangClient _client;
    private string _name = "민지";
    private string _code = "";
    private string _narration = "";
    private string _status = "이름을 입력하세요 / Enter a name";

    private void Start()
    {
        _maratang = GetComponent<MaratangBehaviour>();
        _client = _maratang.Client;
        _client.NarrationStarted += started => _narration = "";
        _client.NarrationDelta += (nid, piece, soFar) => _narration = soFar;
        _client.NarrationEnded += (nid, text, source) => _narration = text;
        _client.RoundStarted += round => _status = "라운드 " + round.Round + " / Round " + round.Round;
        _client.RoundResolved += resolved => _status = "점수 / Scores: " + string.Join(", ", resolved.Results.ConvertAll(r => r.Score.ToString()));
        _client.GameOver += over => _status = "게임 끝 / Game over";
        _client.Disconnected += lost => _status = lost.WillReconnect ? "다시 연결 중… / Reconnecting…" : "연결 끊김 / Offline: " + lost.Reason;
    }

    private async Task SitDownAsync(bool create)
    {
        try
        {
            if (_client.Token == null) await _maratang.SignInAsync(_name);
            await _client.ConnectAsync();
            Ack ack = create ? await _client.CreateTableAsync(new Settings { Rounds = 3 }) : await _client.JoinAsync(_code);
            _code = ack.Code;
            _status = "테이블 / Table " + _code;
        }
        catch (MaratangException refused)
        {
            _status = refused.Code + ": " + refused.Message;
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
            _status = refused.Code + ": " + refused.Message;
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
            if (GUILayout.Button("새 테이블 / New table")) _ = SitDownAsync(create: true);
            _code = GUILayout.TextField(_code);
            if (GUILayout.Button("참가 / Join")) _ = SitDownAsync(create: false);
        }
        else
        {
            GUILayout.Label("코드 / Code: " + table.Code + "  ·  " + table.Phase);
            if (table.Phase == "lobby" && table.Host == _client.Player?.Id && GUILayout.Button("시작 / Start"))
                _ = RunAsync(_client.StartAsync);
            if (table.Phase == "picking" && table.Bowl == null && GUILayout.Button("제출 / Submit bowl"))
                _ = RunAsync(() => _client.SubmitBowlAsync(table.Round, Ingredients, Spice));
        }
        GUILayout.Label(_narration);
        GUILayout.EndArea();
    }
}
