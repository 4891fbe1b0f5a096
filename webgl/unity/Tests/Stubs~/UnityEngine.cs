// The part of UnityEngine (and Unity's AOT attribute) that Runtime/Unity and the QuickStart
// sample use, with the same names and signatures, so both compile outside Unity against the
// SDK's core. Nothing here runs a game: a typo in the Unity layer fails the build, a wrong
// behaviour inside Unity would not. The folder ends in "~" so Unity never imports it.
using System;

namespace UnityEngine
{
    public class Object
    {
    }

    public class Component : Object
    {
        public T GetComponent<T>() => default(T);
    }

    public class Behaviour : Component
    {
        public bool enabled { get; set; }
    }

    public class MonoBehaviour : Behaviour
    {
    }

    public class AsyncOperation
    {
        public event Action<AsyncOperation> completed
        {
            add { }
            remove { }
        }
    }

    public static class Application
    {
        public static string absoluteURL => "";
        public static bool isMobilePlatform => false;
    }

    public static class Debug
    {
        public static void Log(object message)
        {
        }

        public static void LogException(Exception exception)
        {
        }
    }

    public struct Rect
    {
        public Rect(float x, float y, float width, float height)
        {
        }
    }

    public static class Screen
    {
        public static int width => 0;
        public static int height => 0;
    }

    public class GUILayoutOption
    {
    }

    public static class GUILayout
    {
        public static void BeginArea(Rect screenRect)
        {
        }

        public static void EndArea()
        {
        }

        public static void Label(string text, params GUILayoutOption[] options)
        {
        }

        public static string TextField(string text, params GUILayoutOption[] options) => text;

        public static bool Button(string text, params GUILayoutOption[] options) => false;
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class SerializeField : Attribute
    {
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class TooltipAttribute : Attribute
    {
        public TooltipAttribute(string tooltip)
        {
        }
    }

    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
    public sealed class RequireComponent : Attribute
    {
        public RequireComponent(Type requiredComponent)
        {
        }
    }
}

namespace AOT
{
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class MonoPInvokeCallbackAttribute : Attribute
    {
        public MonoPInvokeCallbackAttribute(Type type)
        {
        }
    }
}

namespace UnityEngine.Networking
{
    public class UnityWebRequestAsyncOperation : AsyncOperation
    {
    }

    public class DownloadHandler
    {
        public string text => "";
    }

    public sealed class DownloadHandlerBuffer : DownloadHandler
    {
    }

    public class UploadHandler
    {
    }

    public sealed class UploadHandlerRaw : UploadHandler
    {
        public UploadHandlerRaw(byte[] data)
        {
        }
    }

    public class UnityWebRequest : IDisposable
    {
        public UnityWebRequest(string url, string method, DownloadHandler downloadHandler, UploadHandler uploadHandler)
        {
            this.downloadHandler = downloadHandler;
        }

        public DownloadHandler downloadHandler { get; }

        public long responseCode => 0;

        public void SetRequestHeader(string name, string value)
        {
        }

        public UnityWebRequestAsyncOperation SendWebRequest() => new UnityWebRequestAsyncOperation();

        public void Dispose()
        {
        }
    }
}
